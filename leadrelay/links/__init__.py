"""Signed, expiring links (rep answers, unsubscribe): `signing` makes and checks tokens, `secret`
holds the key."""
