"""Policy instruments: quotas issued in batches, export regimes and licence queues, trade
charges, disruptions. :class:`~rechain.conditions.PolicyTimeline` turns them into what firms
see week by week; firms see only what has been issued or decided so far.
"""

from .disruptions import FirmWeekTable, capacity_resets, dated_capacity, dated_multiple, disruption_table
from .exports import ExportRegimes, LicenceQueue
from .quotas import QUOTA_TYPES, QuotaBook, catch_up_pace, quota_read_days

__all__ = ["QUOTA_TYPES", "QuotaBook", "catch_up_pace", "quota_read_days", "ExportRegimes", "LicenceQueue", "disruption_table", "dated_capacity", "capacity_resets", "dated_multiple", "FirmWeekTable"]
