"""The installer's work (DESIGN §2 G): jobs at a station or a planned one, their checklists and
the files that prove what was done. Pure: no I/O, no framework."""
