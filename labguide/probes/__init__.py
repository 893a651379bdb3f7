"""Probes watch the lab while it is broken: VIP ownership and an HTTP prober. No Textual."""
