"""Pure rendering functions: colour science, layout planning, scenes, composition, text."""
