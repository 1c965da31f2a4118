# The remote portlet consumer's words (level 2a), in the window.

# What the window shows while the producing ENT does not answer.
unavailable = This service, provided by another ENT, is unavailable for the moment. Please try again in a few minutes.
