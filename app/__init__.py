"""CallScope's application: the floor (``app.core``), the composition root (``app.runtime``),
the use cases (``app.services``) and the entry points over them (``app.cli``, ``app.api``,
``app.jobs``). Importing a package has no side effects."""
