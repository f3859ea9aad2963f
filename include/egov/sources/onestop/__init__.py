"""The provinces' one-stop-shop portals (docs/contracts/portal-api.md): units, the procedure
catalogue (TTHC) and application records (hồ sơ)."""
