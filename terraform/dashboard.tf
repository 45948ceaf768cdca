# One dashboard of the stack, built as an HCL object (checked by tests/terraform: every metric it
# charts is declared) and encoded to the Monitoring API's JSON.
locals {
  user_metric = "logging.googleapis.com/user"

  dashboard = {
    displayName = "confsync (${var.prefix})"
    mosaicLayout = {
      columns = 48
      tiles = [
        {
          xPos   = 0
          yPos   = 0
          width  = 24
          height = 16
          widget = {
            title = "Notification to applied latency (p50, p95)"
            xyChart = {
              chartOptions = { mode = "COLOR" }
              yAxis        = { label = "seconds", scale = "LINEAR" }
              dataSets = [
                for percentile in ["50", "95"] : {
                  plotType       = "LINE"
                  legendTemplate = "p${percentile}"
                  timeSeriesQuery = {
                    timeSeriesFilter = {
                      filter = "metric.type=\"${local.user_metric}/${google_logging_metric.sync_latency.name}\" resource.type=\"cloud_run_revision\""
                      aggregation = {
                        alignmentPeriod    = "300s"
                        perSeriesAligner   = "ALIGN_DELTA"
                        crossSeriesReducer = "REDUCE_PERCENTILE_${percentile}"
                      }
                    }
                  }
                }
              ]
            }
          }
        },
        {
          xPos   = 24
          yPos   = 0
          width  = 24
          height = 16
          widget = {
            title = "Sync runs by outcome"
            xyChart = {
              chartOptions = { mode = "COLOR" }
              dataSets = [
                {
                  plotType = "STACKED_BAR"
                  timeSeriesQuery = {
                    timeSeriesFilter = {
                      filter = "metric.type=\"${local.user_metric}/${google_logging_metric.sync_runs.name}\" resource.type=\"cloud_run_revision\""
                      aggregation = {
                        alignmentPeriod    = "300s"
                        perSeriesAligner   = "ALIGN_SUM"
                        crossSeriesReducer = "REDUCE_SUM"
                        groupByFields      = ["metric.label.status"]
                      }
                    }
                  }
                },
                {
                  plotType       = "LINE"
                  legendTemplate = "runs that gave up an operation"
                  timeSeriesQuery = {
                    timeSeriesFilter = {
                      filter = "metric.type=\"${local.user_metric}/${google_logging_metric.sync_failures.name}\" resource.type=\"cloud_run_revision\""
                      aggregation = {
                        alignmentPeriod    = "300s"
                        perSeriesAligner   = "ALIGN_SUM"
                        crossSeriesReducer = "REDUCE_SUM"
                      }
                    }
                  }
                },
              ]
            }
          }
        },
        {
          xPos   = 0
          yPos   = 16
          width  = 24
          height = 16
          widget = {
            title = "Conference operations left pending per run (mean, p95)"
            xyChart = {
              chartOptions = { mode = "COLOR" }
              dataSets = [
                for reducer in ["REDUCE_MEAN", "REDUCE_PERCENTILE_95"] : {
                  plotType       = "LINE"
                  legendTemplate = reducer == "REDUCE_MEAN" ? "mean" : "p95"
                  timeSeriesQuery = {
                    timeSeriesFilter = {
                      filter = "metric.type=\"${local.user_metric}/${google_logging_metric.pending_operations.name}\" resource.type=\"cloud_run_revision\""
                      aggregation = {
                        alignmentPeriod    = "300s"
                        perSeriesAligner   = "ALIGN_DELTA"
                        crossSeriesReducer = reducer
                      }
                    }
                  }
                }
              ]
            }
          }
        },
        {
          xPos   = 24
          yPos   = 16
          width  = 24
          height = 16
          widget = {
            title = "Dead letters waiting"
            xyChart = {
              chartOptions = { mode = "COLOR" }
              dataSets = [
                {
                  plotType = "LINE"
                  timeSeriesQuery = {
                    timeSeriesFilter = {
                      filter = "metric.type=\"pubsub.googleapis.com/subscription/num_undelivered_messages\" resource.type=\"pubsub_subscription\" resource.label.\"subscription_id\"=\"${google_pubsub_subscription.dead_letter_inspect.name}\""
                      aggregation = {
                        alignmentPeriod  = "300s"
                        perSeriesAligner = "ALIGN_MAX"
                      }
                    }
                  }
                }
              ]
            }
          }
        },
        {
          xPos   = 0
          yPos   = 32
          width  = 24
          height = 16
          widget = {
            title = "Function errors (ERROR lines) by function"
            xyChart = {
              chartOptions = { mode = "COLOR" }
              dataSets = [
                {
                  plotType = "STACKED_BAR"
                  timeSeriesQuery = {
                    timeSeriesFilter = {
                      filter = "metric.type=\"${local.user_metric}/${google_logging_metric.function_errors.name}\" resource.type=\"cloud_run_revision\""
                      aggregation = {
                        alignmentPeriod    = "300s"
                        perSeriesAligner   = "ALIGN_SUM"
                        crossSeriesReducer = "REDUCE_SUM"
                        groupByFields      = ["metric.label.service"]
                      }
                    }
                  }
                }
              ]
            }
          }
        },
        {
          xPos   = 24
          yPos   = 32
          width  = 24
          height = 16
          widget = {
            title = "Calendars disconnected, channel maintenance missed"
            xyChart = {
              chartOptions = { mode = "COLOR" }
              dataSets = [
                {
                  plotType       = "STACKED_BAR"
                  legendTemplate = "calendars disconnected"
                  timeSeriesQuery = {
                    timeSeriesFilter = {
                      filter = "metric.type=\"${local.user_metric}/${google_logging_metric.calendars_disconnected.name}\" resource.type=\"cloud_run_revision\""
                      aggregation = {
                        alignmentPeriod    = "300s"
                        perSeriesAligner   = "ALIGN_SUM"
                        crossSeriesReducer = "REDUCE_SUM"
                      }
                    }
                  }
                },
                {
                  plotType       = "STACKED_BAR"
                  legendTemplate = "ticks leaving renewals undone"
                  timeSeriesQuery = {
                    timeSeriesFilter = {
                      filter = "metric.type=\"${local.user_metric}/${google_logging_metric.channels_unrenewed.name}\" resource.type=\"cloud_run_revision\""
                      aggregation = {
                        alignmentPeriod    = "300s"
                        perSeriesAligner   = "ALIGN_SUM"
                        crossSeriesReducer = "REDUCE_SUM"
                      }
                    }
                  }
                },
              ]
            }
          }
        },
      ]
    }
  }
}

resource "google_monitoring_dashboard" "main" {
  project        = var.project_id
  dashboard_json = jsonencode(local.dashboard)

  depends_on = [google_project_service.this]
}
