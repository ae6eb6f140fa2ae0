"""Background jobs: the queue and worker (``queue``), their table (``store``) and what each kind
does (``kinds``: thin adapters over ``app.services``)."""
