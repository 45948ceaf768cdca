resource "google_firestore_database" "main" {
  project     = var.project_id
  name        = var.firestore_database
  location_id = var.firestore_location
  type        = "FIRESTORE_NATIVE"

  delete_protection_state = "DELETE_PROTECTION_ENABLED"
  deletion_policy         = "ABANDON"

  depends_on = [google_project_service.this]
}

# Composite indexes: one per query shape in confsync.adapters.firestore_store.QUERY_SHAPES,
# confsync.adapters.firestore_channels.CHANNEL_QUERY_SHAPES and
# confsync.cli.status.STATUS_QUERY_SHAPES (`confsync status`) that involves more than one field
# (tests/terraform checks each against the code). Field order: equality (`==`, `in`) fields, then
# ordered fields, then the remaining range fields, as Firestore requires.
#
# Skipped, served by Firestore's automatic single-field indexes (array-contains included):
#   FirestoreCalendarStore.of_subject                 calendars          subject ==
#   FirestoreChannelStore.of_calendar                 channels           calendar_key ==
#   FirestoreChannelStore.superseded_or_orphaned      channels           state in
#   FirestoreRecordStore.of_calendar                  conferences        calendar_keys array-contains
#   FirestoreRecordStore.attached_to                  conference_events  calendar_key ==
#   FirestoreRecordStore.legacy_of_calendar           conferences        calendar_key ==
#   FirestoreStatusReader.calendars                   channels           state ==
#   FirestoreStatusReader.calendars                   conferences        status ==
#   FirestoreStatusReader.calendars                   calendars          state == (--state)
#
# FirestoreRecordForgetter.forget_calendar issues FirestoreRecordStore's queries (attached_to,
# of_calendar, legacy_of_calendar).
#
# Equality-only shapes on two fields could be served by index merging; they get an index
# anyway, so they never depend on merging (cheaper, and one index serves them exactly).

# Fields no query reads, exempt from Firestore's automatic single-field indexes (an empty
# index_config disables them), so a write costs no index entries for them:
# - conferences.body (confsync.records, schema 3): the JSON text of a record's references and
#   sent state; a long text would otherwise also meet the index entry size limit;
# - conference_events (the event pointers) are read by id and queried by calendar_key only
#   (FirestoreRecordStore.attached_to).
# tests/terraform checks that no query shape of the code filters or orders on one of them.
locals {
  unindexed_fields = {
    conferences_body                 = { collection = "conferences", field = "body" }
    conference_events_event_id       = { collection = "conference_events", field = "event_id" }
    conference_events_conference_key = { collection = "conference_events", field = "conference_key" }
  }
}

resource "google_firestore_field" "unindexed" {
  for_each = local.unindexed_fields

  project    = var.project_id
  database   = google_firestore_database.main.name
  collection = each.value.collection
  field      = each.value.field

  index_config {}
}

# FirestoreCalendarStore.due_for_sweep: state in, sweep_due_at <=, order by sweep_due_at (the
# sweep by need; the shapes below find calendars stored before it, on the old criterion).
resource "google_firestore_index" "calendars_sweep_due" {
  project    = var.project_id
  database   = google_firestore_database.main.name
  collection = "calendars"

  fields {
    field_path = "state"
    order      = "ASCENDING"
  }
  fields {
    field_path = "sweep_due_at"
    order      = "ASCENDING"
  }
}

# FirestoreCalendarStore.due_for_sweep: state in, last_attempt_at <, order by last_attempt_at.
resource "google_firestore_index" "calendars_sweep_stale" {
  project    = var.project_id
  database   = google_firestore_database.main.name
  collection = "calendars"

  fields {
    field_path = "state"
    order      = "ASCENDING"
  }
  fields {
    field_path = "last_attempt_at"
    order      = "ASCENDING"
  }
}

# FirestoreCalendarStore.due_for_sweep: state in, last_attempt_at == null (never attempted).
# Same fields as calendars_sweep_stale: that index serves this shape too.

# FirestoreCalendarStore.due_for_sweep: state in, pending_count >, order by last_attempt_at.
resource "google_firestore_index" "calendars_sweep_pending" {
  project    = var.project_id
  database   = google_firestore_database.main.name
  collection = "calendars"

  fields {
    field_path = "state"
    order      = "ASCENDING"
  }
  fields {
    field_path = "last_attempt_at"
    order      = "ASCENDING"
  }
  fields {
    field_path = "pending_count"
    order      = "ASCENDING"
  }
}

# FirestoreCalendarStore.disconnected_before (offboarding: calendars whose retention is over):
# state ==, disconnected_at <, order by disconnected_at.
resource "google_firestore_index" "calendars_disconnected" {
  project    = var.project_id
  database   = google_firestore_database.main.name
  collection = "calendars"

  fields {
    field_path = "state"
    order      = "ASCENDING"
  }
  fields {
    field_path = "disconnected_at"
    order      = "ASCENDING"
  }
}

# FirestoreCalendarStore.disconnected_since (offboarding: recently disconnected calendars, whose
# channels are stopped): state ==, disconnected_at >=, order by disconnected_at descending.
resource "google_firestore_index" "calendars_disconnected_recently" {
  project    = var.project_id
  database   = google_firestore_database.main.name
  collection = "calendars"

  fields {
    field_path = "state"
    order      = "ASCENDING"
  }
  fields {
    field_path = "disconnected_at"
    order      = "DESCENDING"
  }
}

# FirestoreRecordStore.pending: home_calendar_key ==, has_pending ==, pending.next_attempt_at <=,
# order by pending.next_attempt_at.
resource "google_firestore_index" "conferences_pending" {
  project    = var.project_id
  database   = google_firestore_database.main.name
  collection = "conferences"

  fields {
    field_path = "home_calendar_key"
    order      = "ASCENDING"
  }
  fields {
    field_path = "has_pending"
    order      = "ASCENDING"
  }
  fields {
    field_path = "pending.next_attempt_at"
    order      = "ASCENDING"
  }
}

# FirestoreStatusReader.calendars (failed records per home calendar): home_calendar_key ==,
# status ==.
resource "google_firestore_index" "conferences_failed" {
  project    = var.project_id
  database   = google_firestore_database.main.name
  collection = "conferences"

  fields {
    field_path = "home_calendar_key"
    order      = "ASCENDING"
  }
  fields {
    field_path = "status"
    order      = "ASCENDING"
  }
}

# FirestoreRecordStore.held (the deletes the deletion brake holds): home_calendar_key ==, hold ==.
resource "google_firestore_index" "conferences_held" {
  project    = var.project_id
  database   = google_firestore_database.main.name
  collection = "conferences"

  fields {
    field_path = "home_calendar_key"
    order      = "ASCENDING"
  }
  fields {
    field_path = "hold"
    order      = "ASCENDING"
  }
}

# FirestoreChannelStore.active_for and FirestoreStatusReader.calendars: calendar_key ==, state ==.
# FirestoreChannelStore.active_for_many: calendar_key in, state == (the same index serves it).
resource "google_firestore_index" "channels_active_for" {
  project    = var.project_id
  database   = google_firestore_database.main.name
  collection = "channels"

  fields {
    field_path = "calendar_key"
    order      = "ASCENDING"
  }
  fields {
    field_path = "state"
    order      = "ASCENDING"
  }
}

# FirestoreChannelStore.expiring_before: state ==, expiration <, order by expiration.
resource "google_firestore_index" "channels_expiring" {
  project    = var.project_id
  database   = google_firestore_database.main.name
  collection = "channels"

  fields {
    field_path = "state"
    order      = "ASCENDING"
  }
  fields {
    field_path = "expiration"
    order      = "ASCENDING"
  }
}

# The project's Calendar budget (confsync.adapters.firestore_budget): per-minute counters, never
# queried (no single-field index), deleted by Firestore a day after their minute.
resource "google_firestore_field" "calendar_budget_expiry" {
  project    = var.project_id
  database   = google_firestore_database.main.name
  collection = "calendar_budget"
  field      = "expire_at"

  ttl_config {}

  index_config {}
}
