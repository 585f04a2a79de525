"""What leads do: opens, clicks and web activity recorded as engagement (`record`), from SendGrid
events and activity CSV files."""
