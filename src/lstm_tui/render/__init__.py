"""Front-end-neutral pictures of results: rich tables, figures (static and HTML), task rows, the inspection view, JSON documents and exports."""
