"""Request and response bodies of the API, separate from the ORM tables."""
