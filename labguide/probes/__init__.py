"""Probes watch the lab while it is being broken: VIP ownership and an HTTP prober. No Textual here."""
