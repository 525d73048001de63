"""Workflow support: studies (config -> jobs), plans (resources per job), the gather of point
files, and mean-field maps. Used by the Snakemake rules and by :func:`lindring.gather`."""
