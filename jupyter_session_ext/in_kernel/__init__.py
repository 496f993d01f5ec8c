"""Files a kernel's own Python runs (never imported by the server)."""
