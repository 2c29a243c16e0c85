"""Auditing the LogLines from outside the box: keyless verification, proofs and the witness."""
