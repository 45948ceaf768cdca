# Observability: log-based metrics over the functions' structured logs, alert policies and one
# dashboard. Every metric reads fields the code writes (tests/terraform checks each field against
# the log lines the code produces):
#
# - the sync summary (confsync.sync, one INFO line per run that took the calendar's lease, and
#   one per notification acknowledged as covered by an earlier pull, status "covered"):
#   jsonPayload.sync.{reason,status,events,pending,failed,...}, jsonPayload.duration_s and
#   jsonPayload.latency_s (seconds from the SyncRequest's notifiedAt to the end of the run);
# - the channels report (confsync.channels, one INFO line per command):
#   jsonPayload.channels.{command,renewed,deferred,failed,disconnected,...}.
#
# Functions (2nd gen) log as Cloud Run revisions named after the function.
locals {
  function_logs = {
    for function, name in {
      channels = module.channels.name
      intake   = module.intake.name
      sync     = module.sync.name
    } : function => "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"${name}\""
  }
  all_function_logs = "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=~\"^${var.prefix}-(intake|sync|channels)$\""
}

# --- log-based metrics -----------------------------------------------------------------------

# ERROR lines: a PermanentError that was acknowledged, a conference operation given up, a calendar
# disconnected, or a crash.
resource "google_logging_metric" "function_errors" {
  project = var.project_id
  name    = "${var.prefix}-function-errors"
  filter  = "${local.all_function_logs} AND severity>=ERROR"

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    unit        = "1"
    labels {
      key        = "service"
      value_type = "STRING"
    }
  }

  label_extractors = {
    service = "EXTRACT(resource.labels.service_name)"
  }
}

# One count per sync run, by outcome and by what asked for it.
resource "google_logging_metric" "sync_runs" {
  project = var.project_id
  name    = "${var.prefix}-sync-runs"
  filter  = "${local.function_logs.sync} AND jsonPayload.sync.status:*"

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    unit        = "1"
    labels {
      key        = "status"
      value_type = "STRING"
    }
    labels {
      key        = "reason"
      value_type = "STRING"
    }
  }

  label_extractors = {
    status = "EXTRACT(jsonPayload.sync.status)"
    reason = "EXTRACT(jsonPayload.sync.reason)"
  }
}

# Runs that gave up on a conference operation (its record is now `failed`).
resource "google_logging_metric" "sync_failures" {
  project = var.project_id
  name    = "${var.prefix}-sync-failures"
  filter  = "${local.function_logs.sync} AND jsonPayload.sync.failed>0"

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    unit        = "1"
  }
}

# A calendar whose credentials were refused, or that a sync saw through an access role below writer
# (both: status "disconnected"), or whose credentials the channels function saw refused.
resource "google_logging_metric" "calendars_disconnected" {
  project = var.project_id
  name    = "${var.prefix}-calendars-disconnected"
  filter  = "resource.type=\"cloud_run_revision\" AND ((resource.labels.service_name=\"${module.sync.name}\" AND jsonPayload.sync.status=\"disconnected\") OR (resource.labels.service_name=\"${module.channels.name}\" AND jsonPayload.channels.disconnected>0))"

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    unit        = "1"
  }
}

# Conference operations a run left pending (failed for now; retried with backoff by later runs).
# Covered notifications and notifications dropped (their channel was not live) do no work, so
# they are left out rather than counted as zero.
resource "google_logging_metric" "pending_operations" {
  project         = var.project_id
  name            = "${var.prefix}-pending-operations"
  filter          = "${local.function_logs.sync} AND jsonPayload.sync.status:* AND jsonPayload.sync.status!=\"covered\" AND jsonPayload.sync.status!=\"dropped\""
  value_extractor = "EXTRACT(jsonPayload.sync.pending)"

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "DISTRIBUTION"
    unit        = "1"
  }

  bucket_options {
    exponential_buckets {
      num_finite_buckets = 12
      growth_factor      = 2
      scale              = 1
    }
  }
}

# Notification to applied: from the SyncRequest's notifiedAt (set by intake when Google's push
# arrived) to the end of the run that applied the change.
resource "google_logging_metric" "sync_latency" {
  project         = var.project_id
  name            = "${var.prefix}-sync-latency"
  filter          = "${local.function_logs.sync} AND jsonPayload.sync.reason=\"notification\" AND jsonPayload.latency_s:*"
  value_extractor = "EXTRACT(jsonPayload.latency_s)"

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "DISTRIBUTION"
    unit        = "s"
  }

  bucket_options {
    exponential_buckets {
      num_finite_buckets = 20
      growth_factor      = 2
      scale              = 0.05
    }
  }
}

# Deletions held by the deletion brake: a run that would have deleted more conferences of one
# calendar than CONFSYNC_DELETE_BRAKE logged one ERROR naming the calendar (its key as a label),
# and sent none of them.
resource "google_logging_metric" "deletions_held" {
  project = var.project_id
  name    = "${var.prefix}-deletions-held"
  filter  = "${local.function_logs.sync} AND severity=ERROR AND jsonPayload.message:\"deletions held by the brake\""

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    unit        = "1"
    labels {
      key        = "calendar_key"
      value_type = "STRING"
    }
  }

  label_extractors = {
    calendar_key = "EXTRACT(labels.calendar_key)"
  }
}

# Channel maintenance left undone: a tick or a renewal batch that deferred work (a user's Calendar
# budget was spent) or failed on some calendars. The next tick retries; if this persists, channels
# reach their expiry unrenewed and push notifications stop (the sweep still syncs).
resource "google_logging_metric" "channels_unrenewed" {
  project = var.project_id
  name    = "${var.prefix}-channels-unrenewed"
  filter  = "${local.function_logs.channels} AND (jsonPayload.channels.command=\"tick\" OR jsonPayload.channels.command=\"renew\") AND (jsonPayload.channels.deferred>0 OR jsonPayload.channels.failed>0)"

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    unit        = "1"
    labels {
      key        = "command"
      value_type = "STRING"
    }
  }

  label_extractors = {
    command = "EXTRACT(jsonPayload.channels.command)"
  }
}

# --- alert policies --------------------------------------------------------------------------
# Each policy's documentation names its runbook step in the README ("Operating confsync").

resource "google_monitoring_alert_policy" "function_errors" {
  project      = var.project_id
  display_name = "${var.prefix}: function errors"
  combiner     = "OR"

  conditions {
    display_name = "ERROR log lines from a confsync function"
    condition_threshold {
      filter          = "resource.type=\"cloud_run_revision\" AND metric.type=\"logging.googleapis.com/user/${google_logging_metric.function_errors.name}\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"
      aggregations {
        alignment_period   = "300s"
        per_series_aligner = "ALIGN_SUM"
      }
    }
  }

  notification_channels = var.alert_notification_channels

  documentation {
    content   = "A confsync function logged an ERROR (a permanent failure that was acknowledged, a conference operation given up, a disconnected calendar, or a crash). Read the function's logs by execution id. Runbook: README, Operating confsync."
    mime_type = "text/markdown"
  }
}

resource "google_monitoring_alert_policy" "dead_letters" {
  project      = var.project_id
  display_name = "${var.prefix}: dead letters"
  combiner     = "OR"

  conditions {
    display_name = "messages waiting in ${google_pubsub_subscription.dead_letter_inspect.name}"
    condition_threshold {
      filter          = "resource.type=\"pubsub_subscription\" AND resource.labels.subscription_id=\"${google_pubsub_subscription.dead_letter_inspect.name}\" AND metric.type=\"pubsub.googleapis.com/subscription/num_undelivered_messages\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"
      aggregations {
        alignment_period   = "300s"
        per_series_aligner = "ALIGN_MAX"
      }
    }
  }

  notification_channels = var.alert_notification_channels

  documentation {
    content   = "A message failed every delivery attempt and was dead-lettered. Pull it from ${google_pubsub_subscription.dead_letter_inspect.name}, fix the cause, and re-publish it. Runbook: README, Operating confsync, Dead letters."
    mime_type = "text/markdown"
  }
}

resource "google_monitoring_alert_policy" "sync_failures" {
  project      = var.project_id
  display_name = "${var.prefix}: conference operations failed"
  combiner     = "OR"

  conditions {
    display_name = "sync runs that gave up on a conference operation"
    condition_threshold {
      filter          = "resource.type=\"cloud_run_revision\" AND metric.type=\"logging.googleapis.com/user/${google_logging_metric.sync_failures.name}\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"
      aggregations {
        alignment_period   = "300s"
        per_series_aligner = "ALIGN_SUM"
      }
    }
  }

  notification_channels = var.alert_notification_channels

  documentation {
    content   = "A conference operation exhausted its retries (or was rejected) and its record is now failed: the conference no longer follows its event. Runbook: README, Operating confsync, Failed conference operations."
    mime_type = "text/markdown"
  }
}

resource "google_monitoring_alert_policy" "calendars_disconnected" {
  project      = var.project_id
  display_name = "${var.prefix}: calendars disconnected"
  combiner     = "OR"

  conditions {
    display_name = "calendars whose credentials were refused"
    condition_threshold {
      filter          = "resource.type=\"cloud_run_revision\" AND metric.type=\"logging.googleapis.com/user/${google_logging_metric.calendars_disconnected.name}\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"
      aggregations {
        alignment_period   = "300s"
        per_series_aligner = "ALIGN_SUM"
      }
    }
  }

  notification_channels = var.alert_notification_channels

  documentation {
    content   = "The Calendar API refused a calendar's credentials (revoked grant, delegation withdrawn, user suspended), or listed it through an access role below writer (last outcome access_role: nothing was planned from that view); the calendar is marked disconnected and is no longer synced. Runbook: README, Operating confsync, Disconnected calendars."
    mime_type = "text/markdown"
  }
}

resource "google_monitoring_alert_policy" "channels_unrenewed" {
  project      = var.project_id
  display_name = "${var.prefix}: channels expiring unrenewed"
  combiner     = "OR"

  conditions {
    display_name = "channel work deferred or failed in every quarter hour for an hour"
    condition_threshold {
      filter          = "resource.type=\"cloud_run_revision\" AND metric.type=\"logging.googleapis.com/user/${google_logging_metric.channels_unrenewed.name}\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "3600s"
      aggregations {
        alignment_period     = "900s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
      }
    }
  }

  notification_channels = var.alert_notification_channels

  documentation {
    content   = "For an hour, ticks or renewal batches kept leaving channel work undone (deferred on a user's Calendar budget, or failed). Channels near expiry may lapse; push notifications then stop and only the sweep syncs. Runbook: README, Operating confsync, Channels expiring unrenewed."
    mime_type = "text/markdown"
  }
}

resource "google_monitoring_alert_policy" "pending_operations" {
  project      = var.project_id
  display_name = "${var.prefix}: pending conference operations growing"
  combiner     = "OR"

  conditions {
    display_name = "sync runs leaving conference operations pending for an hour"
    condition_threshold {
      filter          = "resource.type=\"cloud_run_revision\" AND metric.type=\"logging.googleapis.com/user/${google_logging_metric.pending_operations.name}\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "3600s"
      aggregations {
        alignment_period     = "900s"
        per_series_aligner   = "ALIGN_MEAN"
        cross_series_reducer = "REDUCE_MAX"
      }
    }
  }

  notification_channels = var.alert_notification_channels

  documentation {
    content   = "For an hour, sync runs kept leaving conference operations pending (new ones failing, or retries failing again): the conferencing system is unavailable or refusing, and the backlog is not draining. Runbook: README, Operating confsync, Failed conference operations."
    mime_type = "text/markdown"
  }
}

resource "google_monitoring_alert_policy" "deletions_held" {
  project      = var.project_id
  display_name = "${var.prefix}: deletions held by the brake"
  combiner     = "OR"

  conditions {
    display_name = "sync runs that held a calendar's deletions"
    condition_threshold {
      filter          = "resource.type=\"cloud_run_revision\" AND metric.type=\"logging.googleapis.com/user/${google_logging_metric.deletions_held.name}\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"
      aggregations {
        alignment_period   = "300s"
        per_series_aligner = "ALIGN_SUM"
      }
    }
  }

  notification_channels = var.alert_notification_channels

  documentation {
    content   = "A sync run would have deleted more conferences of one calendar than CONFSYNC_DELETE_BRAKE and held all of them: no conference was deleted. The metric's calendar_key label and the ERROR line name the calendar. Decide, then `confsync release-deletes --calendar-key KEY` (send them) or add `--discard` (keep the conferences). Runbook: README, Operating confsync, Deletions held by the brake."
    mime_type = "text/markdown"
  }
}
