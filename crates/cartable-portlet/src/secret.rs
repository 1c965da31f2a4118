//! Resources reached by a secret URL, without a session: what a program fetches on a
//! user's behalf (a feed reader polling an RSS feed, a calendar client subscribed to an
//! iCalendar file) and cannot log in with a form.
//!
//! A service implements [`SecretResource`] and returns it from
//! [`Portlet::secret`](crate::Portlet::secret). It gives each user a token of its own (a
//! long random string, [`cartable_socle::random_token`]), kept in its tables, that the
//! user may revoke; the portal routes
//!
//! ```text
//! GET <base>/flux/<portlet id>/<token>/<file>
//! ```
//!
//! without a session: it asks the service whose token it is ([`SecretResource::owner`]),
//! loads that person as pages see her (from the directory, her account active, her
//! delegated roles), checks that the portlet is one she may use, and calls
//! [`SecretResource::serve`] for her. An unknown or revoked token, a person gone or
//! inactive, a portlet she may not use: `404`, the same answer for each, so that a
//! guessed URL learns nothing. A window shows the user her URL with
//! [`PortletUrls::secret`](crate::PortletUrls::secret).
//!
//! The token stands for the user's reading rights on that one service: the service
//! serves only what she may read, never an action.

use async_trait::async_trait;

use crate::export::DataContext;
use crate::{Params, PortletError, ResourceResponse, Services};

/// A request to a secret URL.
#[derive(Debug, Clone)]
pub struct SecretRequest {
    /// The token of the URL (already found to be the user's).
    pub token: String,
    /// The last segment of the URL (`rss.xml`, `atom.xml`, `agenda.ics`).
    pub file: String,
    /// The query's parameters.
    pub params: Params,
    /// The absolute URL of the portal's root, without a trailing `/`
    /// (`https://ent.lycee-hugo.fr/ent`): the configured public URL, else the request's
    /// `Host`. For the absolute links a feed needs.
    pub portal_url: String,
}

/// A service that serves some of a user's data at a secret URL (see the
/// [module](self)).
#[async_trait]
pub trait SecretResource: Send + Sync {
    /// Whose token `token` is, if it is a live one (`None`: unknown or revoked). Compare
    /// it as a whole: a prefix or a different case is another token.
    async fn owner(&self, services: &Services, token: &str)
    -> Result<Option<String>, PortletError>;

    /// Serve `request.file` to the token's owner (`cx.user()`, as pages see her); a
    /// file it does not serve is [`PortletError::NotFound`].
    async fn serve(
        &self,
        cx: &DataContext,
        request: SecretRequest,
    ) -> Result<ResourceResponse, PortletError>;
}
