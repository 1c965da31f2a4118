# Les mots du consommateur de portlets distants (niveau 2a), dans la fenêtre.

# Ce que montre la fenêtre quand l’ENT producteur ne répond pas.
unavailable = Ce service, fourni par un autre ENT, est momentanément indisponible. Réessayez dans quelques minutes.
