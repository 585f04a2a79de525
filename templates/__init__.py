"""The email templates (`emails/`), shipped inside the package as `leadrelay.templates`."""
