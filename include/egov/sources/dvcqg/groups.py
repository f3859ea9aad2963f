"""The six groups of the index: warehouse code, path, shape, page size, points."""

from __future__ import annotations

from dataclasses import dataclass

API_PREFIX = "/api/v1/reporting/"
FORMALITIES = API_PREFIX + "formalities"
OVERVIEW, TREE = "overview", "tree"


@dataclass(frozen=True)
class Group:
    code: str  # group_code in the warehouse
    path: str  # under API_PREFIX
    shape: str  # OVERVIEW (overview/evaluation) or TREE (parent/children)
    page_size: int
    points: int  # a province's maximum
    date_range: bool = False  # fromDate/toDate instead of timeType

    @property
    def url_path(self) -> str:
        return API_PREFIX + self.path


GROUPS: tuple[Group, ...] = (
    Group("transparency", "evaluation/transparency", OVERVIEW, 200, 18),
    Group("satisfaction", "evaluation/handling-satisfaction", OVERVIEW, 200, 18,
          date_range=True),
    Group("digitized", "evaluation/dossier-digitized", OVERVIEW, 200, 22),
    Group("progress", "evaluation/dvc-progress-tree", TREE, 100, 20),
    Group("online_service", "evaluation/provide-online-tree", TREE, 200, 12),
    Group("online_payment", "evaluation/formality-online-payment-tree", TREE, 100, 10),
)
BY_CODE = {g.code: g for g in GROUPS}
GROUP_CODES = tuple(g.code for g in GROUPS)

# Metric codes the contract lists, per group (others are loaded too, and named as new).
KNOWN_METRICS: dict[str, frozenset[str]] = {
    "transparency": frozenset({"PUBLISH_ON_TIME", "PUBLIC_UPDATE_ON_TIME",
                               "PUBLIC_CONTENT_FULL", "DOSSIER_SYNC"}),
    "satisfaction": frozenset({"DOSSIER_RECEIVING_SATISFACTION", "PETITION_PROCESSING_ON_TIME",
                               "PETITION_HANDLING_SATISFACTION",
                               "PETITION_CLASSIFICATION_TTHC",
                               "PETITION_CLASSIFICATION_STAFF"}),
    "digitized": frozenset({"ORIGINAL_RESULT_AVAILABLE", "SO_HOA_GIAY_TO_GIAI_QUYET",
                            "REUSED_DIGITIZED_DATA", "SYNCED_WITH_DVCQG_PERSONAL_STORAGE",
                            "CITIZEN_DATA_CONNECTED_DOSSIER",
                            "CITIZEN_DATA_CONNECTED_FORMALITY", "ELECTRONIC_CERTIFIED_COPY"}),
    # the tree groups' metrics are the rows' count fields
    "progress": frozenset({"totalReceived", "totalOnTime", "totalOverdue", "totalCompleted",
                           "avgProcessingDays"}),
    "online_service": frozenset({"authorityCount", "partialCount", "fullCount",
                                 "onlineDossierCount", "onlineServiceTotal",
                                 "channelOnlineSum", "channelDirectSum", "channelPostalSum",
                                 "channelTotalSum", "onlineOnTimeSum", "onlineOverdueSum"}),
    "online_payment": frozenset({"totalDossierOnlinePaymentSuccess",
                                 "totalDossierFinancialObligation",
                                 "totalDossierOnlineFormalityPaymentSuccess",
                                 "totalFeeDossierFormalityDistinct", "totalFeeDossierFormality",
                                 "totalFeeFormality"}),
}
# Count fields of overview rows (satisfaction), stored as metrics by their field name.
ROW_COUNT_FIELDS: dict[str, frozenset[str]] = {
    "transparency": frozenset({"averageScore"}),
    "satisfaction": frozenset({"totalPetitions", "classifiedPetitions", "totalDossiers",
                               "averageScore"}),
    "digitized": frozenset({"averageScore"}),
}
