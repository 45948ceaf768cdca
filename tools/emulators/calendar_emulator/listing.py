"""events.list / events.instances: query parsing, filtering, expansion and rendering of items.

The functions here compute the full result of a query as a list of JSON texts (one per item);
paging and sync tokens are the store's business.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from .errors import (
    ApiError,
    bad_request,
    invalid_parameter,
    sync_token_with_restrictions,
    time_range_empty,
)
from .model import JSON, Calendar, EventRecord, ParsedSeries
from .recurrence import MAX_INSTANCES, Series, instance_id
from .timeutil import format_seconds, get_zone, parse_rfc3339

__all__ = [
    "FORBIDDEN_WITH_SYNC_TOKEN",
    "HORIZON",
    "MAX_PAGE",
    "ListQuery",
    "check_original_start",
    "full_results",
    "incremental_results",
    "instance_results",
    "parse_list_query",
    "render_instance",
    "tombstone",
]

MAX_PAGE = 2500
DEFAULT_PAGE = 250
# Without timeMax, a series is expanded up to this long after the later of now and its first start.
HORIZON = datetime.timedelta(days=730)

FORBIDDEN_WITH_SYNC_TOKEN = (
    "iCalUID",
    "orderBy",
    "privateExtendedProperty",
    "q",
    "sharedExtendedProperty",
    "timeMin",
    "timeMax",
    "updatedMin",
)

Args = Mapping[str, Sequence[str]]


@dataclass(frozen=True)
class ListQuery:
    """The parsed query of events.list or events.instances."""

    max_results: int = DEFAULT_PAGE
    page_token: str | None = None
    sync_token: str | None = None
    show_deleted: bool = False
    single_events: bool = False
    time_min: datetime.datetime | None = None
    time_max: datetime.datetime | None = None
    updated_min: datetime.datetime | None = None
    order_by: str | None = None
    q: str | None = None
    ical_uid: str | None = None
    private_props: tuple[str, ...] = ()
    shared_props: tuple[str, ...] = ()
    event_types: tuple[str, ...] = ()
    original_start: str | None = None

    def fingerprint(self) -> str:
        """Identifies the query apart from paging, so a page token cannot change it."""
        parts = [
            self.sync_token or "",
            str(self.show_deleted),
            str(self.single_events),
            str(self.time_min),
            str(self.time_max),
            str(self.updated_min),
            self.order_by or "",
            self.q or "",
            self.ical_uid or "",
            "|".join(self.private_props),
            "|".join(self.shared_props),
            "|".join(self.event_types),
            self.original_start or "",
        ]
        return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]

    def sync_fingerprint(self) -> str:
        """The parameters an incremental list must repeat from its full sync."""
        return "s" if self.single_events else "n"

    @property
    def lower(self) -> float:
        return self.time_min.timestamp() if self.time_min else -math.inf

    @property
    def upper(self) -> float:
        return self.time_max.timestamp() if self.time_max else math.inf

    @property
    def needs_resource(self) -> bool:
        return bool(
            self.q or self.ical_uid or self.private_props or self.shared_props or self.event_types
        )


def _one(args: Args, name: str) -> str | None:
    values = args.get(name)
    return values[0] if values else None


def _bool(args: Args, name: str) -> bool:
    raw = _one(args, name)
    if raw is None or raw == "":
        return False
    lowered = raw.lower()
    if lowered not in ("true", "false"):
        raise invalid_parameter(f"Invalid boolean value: '{raw}'.", name)
    return lowered == "true"


def _time(args: Args, name: str) -> datetime.datetime | None:
    raw = _one(args, name)
    if raw is None or raw == "":
        return None
    try:
        return parse_rfc3339(raw)
    except ValueError as exc:
        raise bad_request() from exc


def _max_results(args: Args) -> int:
    raw = _one(args, "maxResults")
    if raw is None or raw == "":
        return DEFAULT_PAGE
    try:
        value = int(raw)
    except ValueError as exc:
        raise invalid_parameter(f"Invalid integer value: '{raw}'.", "maxResults") from exc
    if value < 1:
        raise invalid_parameter(
            f"Invalid value '{raw}'. Values must be within the range: [1, {MAX_PAGE}]",
            "maxResults",
        )
    return min(value, MAX_PAGE)


def _order_by(args: Args, single_events: bool) -> str | None:
    order_by = _one(args, "orderBy") or None
    if order_by is None:
        return None
    if order_by not in ("startTime", "updated"):
        raise invalid_parameter(f"Invalid value for: {order_by}", "orderBy")
    if order_by == "startTime" and not single_events:
        raise invalid_parameter(
            "The requested ordering is not available for the particular query.", "orderBy"
        )
    return order_by


def parse_list_query(args: Args) -> ListQuery:
    """Parse and check the query string of events.list (or events.instances)."""
    sync_token = _one(args, "syncToken") or None
    if sync_token is not None and any(_one(args, name) for name in FORBIDDEN_WITH_SYNC_TOKEN):
        raise sync_token_with_restrictions()
    single_events = _bool(args, "singleEvents")
    time_min = _time(args, "timeMin")
    time_max = _time(args, "timeMax")
    if time_min is not None and time_max is not None and time_min >= time_max:
        raise time_range_empty()
    return ListQuery(
        max_results=_max_results(args),
        page_token=_one(args, "pageToken") or None,
        sync_token=sync_token,
        show_deleted=_bool(args, "showDeleted"),
        single_events=single_events,
        time_min=time_min,
        time_max=time_max,
        updated_min=_time(args, "updatedMin"),
        order_by=_order_by(args, single_events),
        q=_one(args, "q") or None,
        ical_uid=_one(args, "iCalUID") or None,
        private_props=tuple(args.get("privateExtendedProperty", ())),
        shared_props=tuple(args.get("sharedExtendedProperty", ())),
        event_types=tuple(args.get("eventTypes", ())),
        original_start=_one(args, "originalStart") or None,
    )


# ---------------------------------------------------------------------------------------------
# Filters


def _text_matches(resource: JSON, needle: str) -> bool:
    haystack: list[str] = [
        str(resource.get(key, "")) for key in ("summary", "description", "location")
    ]
    attendees = resource.get("attendees")
    people = [resource.get("organizer"), *(attendees if isinstance(attendees, list) else [])]
    for person in people:
        if isinstance(person, dict):
            haystack.append(str(person.get("displayName", "")))
            haystack.append(str(person.get("email", "")))
    text = "\n".join(haystack).lower()
    return all(word in text for word in needle.lower().split())


def _props_match(resource: JSON, scope: str, wanted: tuple[str, ...]) -> bool:
    extended = resource.get("extendedProperties")
    props = extended.get(scope) if isinstance(extended, dict) else None
    if not isinstance(props, dict):
        props = {}
    for pair in wanted:
        name, _, value = pair.partition("=")
        if props.get(name) != value:
            return False
    return True


def resource_matches(resource: JSON, query: ListQuery) -> bool:
    """The filters that need the event's content (q, iCalUID, extended properties, types)."""
    if query.ical_uid and resource.get("iCalUID") != query.ical_uid:
        return False
    if query.q and not _text_matches(resource, query.q):
        return False
    if query.event_types and resource.get("eventType", "default") not in query.event_types:
        return False
    return _props_match(resource, "private", query.private_props) and _props_match(
        resource, "shared", query.shared_props
    )


def _in_window(start_ts: float, end_ts: float, query: ListQuery) -> bool:
    if query.time_min is None and query.time_max is None:
        return True
    # An empty (zero-length) event counts as occupying its start instant.
    return max(end_ts, start_ts + 1e-6) > query.lower and start_ts < query.upper


def _updated_ok(record: EventRecord, query: ListQuery) -> bool:
    return query.updated_min is None or record.updated_ts >= query.updated_min.timestamp()


# ---------------------------------------------------------------------------------------------
# Rendering


def tombstone(record: EventRecord) -> str:
    """The minimal shape of a cancelled event (plus the instance keys of an exception)."""
    item: JSON = {
        "kind": "calendar#event",
        "etag": record.etag,
        "id": record.id,
        "status": "cancelled",
    }
    if record.series_id is not None:
        resource = record.resource()
        item["recurringEventId"] = record.series_id
        item["originalStartTime"] = resource.get("originalStartTime")
    return json.dumps(item)


def _local_time(value: datetime.datetime | datetime.date, zone_name: str | None) -> JSON:
    if isinstance(value, datetime.datetime):
        out: JSON = {"dateTime": format_seconds(value)}
        if zone_name:
            out["timeZone"] = zone_name
        return out
    return {"date": value.isoformat()}


def render_instance(parsed: ParsedSeries, start: datetime.datetime, cancelled: bool) -> JSON:
    """The instance of a series that starts at `start` (as the series yields it)."""
    data = parsed.data
    series: Series = parsed.series
    start_zone = data["start"].get("timeZone")
    end_zone = data["end"].get("timeZone") or start_zone
    end = start + series.duration
    if series.all_day:
        start_value: datetime.datetime | datetime.date = start.date()
        end_value: datetime.datetime | datetime.date = end.date()
        stamp_value: datetime.datetime | datetime.date = start.date()
    else:
        start_value = start.astimezone(series.zone)
        end_value = end.astimezone(series.zone if not end_zone else _zone(end_zone, series))
        stamp_value = start
    item: JSON = {}
    for key, value in data.items():
        if key in ("recurrence", "id", "start", "end"):
            continue
        item[key] = value
    item["id"] = instance_id(data["id"], stamp_value)
    item["start"] = _local_time(start_value, start_zone)
    item["end"] = _local_time(end_value, end_zone)
    item["recurringEventId"] = data["id"]
    item["originalStartTime"] = _local_time(start_value, start_zone)
    if cancelled:
        item["status"] = "cancelled"
    return item


def _zone(name: str, series: Series) -> datetime.tzinfo:
    try:
        return get_zone(name)
    except ValueError:
        return series.zone


def _horizon(series: Series, query: ListQuery, now: datetime.datetime) -> datetime.datetime:
    if query.time_max is not None:
        return query.time_max
    return max(now, series.first.moment) + HORIZON


def _expand(
    calendar: Calendar,
    record: EventRecord,
    query: ListQuery,
    now: datetime.datetime,
    windowed: bool,
) -> Iterable[tuple[float, str, JSON]]:
    """Generated instances of a series (skipping ids that have an exception object)."""
    parsed = calendar.parsed_series(record)
    exceptions = calendar.exceptions.get(record.id, set())
    lower = query.time_min if windowed else None
    starts = parsed.series.starts(lower, _horizon(parsed.series, query, now), MAX_INSTANCES)
    for start in starts:
        item = render_instance(parsed, start, record.cancelled)
        if item["id"] in exceptions:
            continue
        yield start.timestamp(), item["id"], item


# ---------------------------------------------------------------------------------------------
# Full lists


def _full_item(calendar: Calendar, record: EventRecord, query: ListQuery) -> str | None:
    """How a stored record shows in a full list (None: not at all)."""
    if not _updated_ok(record, query) or not _in_window(record.start_ts, record.end_ts, query):
        return None
    if query.needs_resource and not resource_matches(record.resource(), query):
        return None
    if not record.cancelled or query.show_deleted:
        return record.data
    if query.updated_min is not None or (
        # a cancelled instance of a live series is listed even without showDeleted
        record.series_id is not None and calendar.series_is_live(record.series_id)
    ):
        return tombstone(record)
    return None


def _full_single(
    calendar: Calendar, query: ListQuery, now: datetime.datetime
) -> list[tuple[float, float, str, str]]:
    rows: list[tuple[float, float, str, str]] = []
    for record in calendar.events.values():
        if record.is_series:
            if record.cancelled or not _updated_ok(record, query):
                continue
            if query.needs_resource and not resource_matches(
                calendar.parsed_series(record).data, query
            ):
                continue
            for start_ts, item_id, item in _expand(calendar, record, query, now, windowed=True):
                rows.append((start_ts, record.updated_ts, item_id, json.dumps(item)))
            continue
        if record.cancelled and not query.show_deleted and query.updated_min is None:
            continue  # expanded lists hide cancelled instances (no exception-object trap here)
        text = _full_item(calendar, record, query)
        if text is not None:
            rows.append((record.start_ts, record.updated_ts, record.id, text))
    return rows


def full_results(calendar: Calendar, query: ListQuery, now: datetime.datetime) -> list[str]:
    """Every item of a list without a sync token, in result order."""
    if query.single_events:
        rows = _full_single(calendar, query, now)
        if query.order_by == "updated":
            rows.sort(key=lambda row: (row[1], row[2]))
        else:
            rows.sort(key=lambda row: (row[0], row[2]))
        return [row[3] for row in rows]
    records: Iterable[EventRecord] = calendar.events.values()
    if query.order_by == "updated":
        records = sorted(records, key=lambda record: record.mseq)
    items: list[str] = []
    for record in records:
        text = _full_item(calendar, record, query)
        if text is not None:
            items.append(text)
    return items


# ---------------------------------------------------------------------------------------------
# Incremental lists


def _series_changes(
    calendar: Calendar, record: EventRecord, query: ListQuery, now: datetime.datetime
) -> Iterable[tuple[str, str]]:
    for _, item_id, instance in _expand(calendar, record, query, now, windowed=False):
        item = instance
        if record.cancelled:
            item = {
                "kind": "calendar#event",
                "etag": record.etag,
                "id": item_id,
                "status": "cancelled",
                "recurringEventId": record.id,
                "originalStartTime": instance["originalStartTime"],
            }
        yield item_id, json.dumps(item)


def incremental_results(
    calendar: Calendar, since: int, query: ListQuery, now: datetime.datetime
) -> list[str]:
    """Every change after change-log position `since`: live items and tombstones."""
    found: dict[str, str] = {}
    for record in calendar.changed_since(since):
        if query.single_events and record.is_series:
            for item_id, text in _series_changes(calendar, record, query, now):
                found.pop(item_id, None)
                found[item_id] = text
            continue
        found.pop(record.id, None)
        found[record.id] = tombstone(record) if record.cancelled else record.data
    return list(found.values())


# ---------------------------------------------------------------------------------------------
# events.instances


def instance_results(
    calendar: Calendar,
    record: EventRecord,
    query: ListQuery,
    now: datetime.datetime,
    wanted: Callable[[str], bool] = lambda _: True,
) -> list[str]:
    """Instances of one series (generated plus exceptions), by start time."""
    rows: list[tuple[float, str, str]] = []
    for start_ts, item_id, item in _expand(calendar, record, query, now, windowed=True):
        if wanted(item_id):
            rows.append((start_ts, item_id, json.dumps(item)))
    for exception_id in calendar.exceptions.get(record.id, set()):
        exception = calendar.events[exception_id]
        if exception.cancelled and not query.show_deleted:
            continue
        if not _in_window(exception.start_ts, exception.end_ts, query) or not wanted(exception_id):
            continue
        rows.append((exception.start_ts, exception_id, exception.data))
    rows.sort(key=lambda row: (row[0], row[1]))
    return [row[2] for row in rows]


def check_original_start(raw: str | None) -> datetime.datetime | None:
    if raw is None:
        return None
    try:
        return parse_rfc3339(raw)
    except ValueError as exc:
        raise ApiError(
            400, "invalid", "Invalid Value", "global", "originalStart", "parameter"
        ) from exc
