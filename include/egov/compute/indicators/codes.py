"""The indicator codes of docs/contracts/indicators.md, in the order reports show them."""

RECORD_INDICATORS: tuple[str, ...] = (
    "on_time_rate",
    "progress_rate",
    "online_rate",
    "full_online_rate",
    "postal_intake_rate",
    "postal_return_rate",
    "online_payment_rate",
    "digitized_dossier_rate",
    "digitized_result_rate",
    "e_certification_rate",
    "satisfaction_rate",
)

CATALOG_INDICATORS: tuple[str, ...] = (
    "catalog_online_rate",
    "catalog_full_online_rate",
    "catalog_full_online_eligible_rate",
    "catalog_active_online_rate",
    "catalog_national_portal_rate",
    "catalog_online_national_portal_rate",
    "catalog_online_payment_rate",
)

ALL_INDICATORS: tuple[str, ...] = RECORD_INDICATORS + CATALOG_INDICATORS
