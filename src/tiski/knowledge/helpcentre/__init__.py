"""The public help centre, the partner portal, share links and deflection: knowledge read outside the console."""
