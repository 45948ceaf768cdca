variable "alert_notification_channels" {
  description = "Monitoring notification channel ids (projects/P/notificationChannels/N) the alert policies notify."
  type        = list(string)
  default     = []
}

variable "allowed_domains" {
  description = "CONFSYNC_ALLOWED_DOMAINS of intake and channels: the domains whose users may be enrolled (by the add-on, an operator or any channel command), or [\"*\"] for any domain (a marketplace add-on). Required: there is no default that would be safe."
  type        = list(string)

  validation {
    condition     = length(var.allowed_domains) > 0 && (var.allowed_domains == ["*"] || alltrue([for domain in var.allowed_domains : can(regex("^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$", domain))]))
    error_message = "allowed_domains must be lower-case domain names (example.com), or exactly [\"*\"] for any domain."
  }
}

variable "calendar_api_url" {
  description = "CALENDAR_API_URL of sync and channels: the Calendar API endpoint ending in /calendar/v3/; empty means Google's."
  type        = string
  default     = ""

  validation {
    condition     = var.calendar_api_url == "" || can(regex("^https?://.+/calendar/v3/$", var.calendar_api_url))
    error_message = "calendar_api_url must be empty or an http(s) URL ending in /calendar/v3/."
  }
}

variable "calendar_attempts" {
  description = "CONFSYNC_CALENDAR_ATTEMPTS of sync and channels: attempts per Calendar request on 429, rate-limit 403 and 5xx."
  type        = number
  default     = 5

  validation {
    condition     = var.calendar_attempts >= 1 && var.calendar_attempts <= 10 && floor(var.calendar_attempts) == var.calendar_attempts
    error_message = "calendar_attempts must be a whole number from 1 to 10."
  }
}

variable "calendar_credentials" {
  description = "CONFSYNC_CALENDAR_CREDENTIALS of sync and channels: how the functions call the Calendar API: delegated (domain-wide delegation, no key files), oauth (per-user refresh tokens) or emulator (anonymous, against calendar_api_url; test deployments only)."
  type        = string
  default     = "delegated"

  validation {
    condition     = contains(["emulator", "delegated", "oauth"], var.calendar_credentials)
    error_message = "calendar_credentials must be one of emulator, delegated, oauth."
  }
}

variable "calendar_timeout_seconds" {
  description = "CONFSYNC_CALENDAR_TIMEOUT_SECONDS of sync and channels: timeout of one Calendar API request."
  type        = number
  default     = 30

  validation {
    condition     = var.calendar_timeout_seconds > 0 && var.calendar_timeout_seconds <= 3600
    error_message = "calendar_timeout_seconds must be more than 0 and at most 3600."
  }
}

variable "channel_command_publishers" {
  description = "IAM members (user:, group: or serviceAccount:) who may publish to channel-commands besides the channels function: the operators running `confsync enroll` / `unenroll`. A channel command acts as the user it names, so the topic's publisher role is held by exactly these and channels (other topic-level publishers are removed)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for member in var.channel_command_publishers : can(regex("^(user|group|serviceAccount):[^@\\s]+@[^@\\s]+$", member))])
    error_message = "channel_command_publishers must be IAM members: user:EMAIL, group:EMAIL or serviceAccount:EMAIL (never allUsers, allAuthenticatedUsers or a domain)."
  }
}

variable "channel_token_active_key" {
  description = "CONFSYNC_CHANNEL_TOKEN_ACTIVE_KEY of intake and channels: id of the key (in the channel-token-keys secret) new channel tokens are minted with."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]+$", var.channel_token_active_key))
    error_message = "channel_token_active_key must be a key id: letters, digits, '_' or '-'."
  }
}

variable "channel_ttl_seconds" {
  description = "CONFSYNC_CHANNEL_TTL_SECONDS of channels: lifetime asked for a new push channel."
  type        = number
  default     = 172800

  validation {
    condition     = var.channel_ttl_seconds >= 10 && var.channel_ttl_seconds <= 2592000 && floor(var.channel_ttl_seconds) == var.channel_ttl_seconds
    error_message = "channel_ttl_seconds must be a whole number from 10 to 2592000."
  }
}

variable "channels_max_instances" {
  description = "Maximum instances of the channels function."
  type        = number
  default     = 5

  validation {
    condition     = var.channels_max_instances >= 1
    error_message = "channels_max_instances must be at least 1."
  }
}

variable "conferencing_url" {
  description = "CONFERENCING_URL of sync: base URL of the conferencing system's contract."
  type        = string

  validation {
    condition     = can(regex("^https://[^/]+", var.conferencing_url))
    error_message = "conferencing_url must be an https:// URL."
  }
}

variable "disconnected_retention_seconds" {
  description = "CONFSYNC_DISCONNECTED_RETENTION_SECONDS of channels: a calendar disconnected this long (user deleted or suspended, access gone) is unenrolled and its conference records forgotten; conferences are never deleted."
  type        = number
  default     = 2592000

  validation {
    condition     = var.disconnected_retention_seconds >= 60 && var.disconnected_retention_seconds <= 31536000 && floor(var.disconnected_retention_seconds) == var.disconnected_retention_seconds
    error_message = "disconnected_retention_seconds must be a whole number from 60 to 31536000 (one year)."
  }
}

variable "enroll_audiences" {
  description = "CONFSYNC_ENROLL_AUDIENCES of intake: the OAuth client ids whose Google ID tokens POST /v1/enroll accepts (the add-on's; see docs/addon.md). Empty: add-on enrolment is off and /v1/enroll answers 404."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for audience in var.enroll_audiences : can(regex("^[A-Za-z0-9._-]{1,200}$", audience))])
    error_message = "enroll_audiences must be OAuth client ids (letters, digits, dot, dash, underscore), e.g. 1234-abc.apps.googleusercontent.com."
  }
}

variable "firestore_database" {
  description = "Firestore database id (CONFSYNC_FIRESTORE_DATABASE of sync and channels)."
  type        = string
  default     = "(default)"

  validation {
    condition     = var.firestore_database == "(default)" || can(regex("^[a-z][a-z0-9-]{3,61}[a-z0-9]$", var.firestore_database))
    error_message = "firestore_database must be (default) or a valid database id."
  }
}

variable "firestore_location" {
  description = "Firestore location (a region such as europe-west1, or a multi-region such as eur3 or nam5)."
  type        = string
  default     = "eur3"

  validation {
    condition     = can(regex("^[a-z0-9-]+$", var.firestore_location))
    error_message = "firestore_location must be a location id."
  }
}

variable "function_sources" {
  description = "Function name -> local path (relative to this directory) of its source zip, made by `make bundle` (the function folder and shared/ together)."
  type        = map(string)
  default = {
    channels = "../.run/bundle/channels.zip"
    intake   = "../.run/bundle/intake.zip"
    sync     = "../.run/bundle/sync.zip"
  }

  validation {
    condition     = toset(keys(var.function_sources)) == toset(["channels", "intake", "sync"])
    error_message = "function_sources must name exactly channels, intake and sync."
  }

  validation {
    condition     = alltrue([for path in values(var.function_sources) : endswith(path, ".zip")])
    error_message = "Every function source must be a .zip file."
  }
}

variable "intake_concurrency" {
  description = "Requests one intake instance serves at once (Cloud Run concurrency; intake gets 1 vCPU, which concurrency above 1 needs). A request is an HMAC check and at most one publish, I/O-bound, so 80 keep one vCPU busy without queueing; with intake_max_instances = 100 a forged flood must hold 8000 requests open at once (slow bodies up to the 30 s timeout) before a genuine notification waits, where one request per instance and 20 instances let 20 slow requests fill intake. 1 restores one request at a time."
  type        = number
  default     = 80

  validation {
    condition     = var.intake_concurrency >= 1 && var.intake_concurrency <= 1000 && floor(var.intake_concurrency) == var.intake_concurrency
    error_message = "intake_concurrency must be a whole number from 1 to 1000."
  }
}

variable "intake_max_body_bytes" {
  description = "CONFSYNC_INTAKE_MAX_BODY_BYTES of intake: larger notification bodies are refused."
  type        = number
  default     = 4096

  validation {
    condition     = var.intake_max_body_bytes >= 0 && var.intake_max_body_bytes <= 1048576 && floor(var.intake_max_body_bytes) == var.intake_max_body_bytes
    error_message = "intake_max_body_bytes must be a whole number from 0 to 1048576."
  }
}

variable "intake_max_instances" {
  description = "Maximum instances of the intake function: with intake_concurrency, how many notifications may be in flight at once (100 x 80 = 8000 by default), and the ceiling of what a flood can cost (100 instances of 1 vCPU and 512 MB while it lasts)."
  type        = number
  default     = 100

  validation {
    condition     = var.intake_max_instances >= 1
    error_message = "intake_max_instances must be at least 1."
  }
}

variable "intake_min_instances" {
  description = "Minimum (warm) instances of the intake function, so notifications are not answered from a cold start."
  type        = number
  default     = 1

  validation {
    condition     = var.intake_min_instances >= 0 && var.intake_min_instances <= 10
    error_message = "intake_min_instances must be from 0 to 10."
  }
}

variable "join_url_hosts" {
  description = "CONFSYNC_JOIN_URL_HOSTS of sync: host names the conferencing system's join URLs may point at to be written back into events (https only); required when sync_settings.write_back is on."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for host in var.join_url_hosts : can(regex("^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\\.?$", host))])
    error_message = "join_url_hosts must be host names (letters, digits, - and .), without scheme, port, path or wildcard."
  }
}

variable "log_level" {
  description = "LOG_LEVEL of every function."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR"], var.log_level)
    error_message = "log_level must be DEBUG, INFO, WARNING or ERROR."
  }
}

variable "oauth_client_id" {
  description = "CONFSYNC_OAUTH_CLIENT_ID of sync and channels when calendar_credentials = \"oauth\": the OAuth client the users' refresh tokens were issued to (its secret goes into the <prefix>-oauth-client-secret secret)."
  type        = string
  default     = ""

  validation {
    condition     = var.oauth_client_id == "" || can(regex("^[0-9A-Za-z._-]+$", var.oauth_client_id))
    error_message = "oauth_client_id must be empty or an OAuth client id."
  }
}

variable "prefix" {
  description = "Prefix of every resource name this module chooses (functions, service accounts, bucket, secrets, dead-letter topic, scheduler job)."
  type        = string
  default     = "confsync"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,19}[a-z0-9]$", var.prefix))
    error_message = "prefix must be 2-21 characters: lower-case letters, digits and '-', starting with a letter and not ending with '-'."
  }
}

variable "project_calendar_per_minute" {
  description = "CONFSYNC_PROJECT_CALENDAR_PER_MINUTE of sync and channels: Calendar requests per minute all their instances together may make (Google allows 10,000 per project; keep room for the CLI and the add-on)."
  type        = number
  default     = 8000

  validation {
    condition     = var.project_calendar_per_minute >= 60 && var.project_calendar_per_minute <= 1000000 && floor(var.project_calendar_per_minute) == var.project_calendar_per_minute
    error_message = "project_calendar_per_minute must be a whole number from 60 to 1000000."
  }
}

variable "project_id" {
  description = "Google Cloud project to deploy into."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a valid project id."
  }
}

variable "region" {
  description = "Region of the functions, the scheduler job and the source bucket."
  type        = string
  default     = "europe-west1"

  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]$", var.region))
    error_message = "region must be a region id such as europe-west1."
  }
}

variable "renewal_window_seconds" {
  description = "CONFSYNC_RENEWAL_WINDOW_SECONDS of channels: channels expiring within this window are renewed (shorter than channel_ttl_seconds)."
  type        = number
  default     = 86400

  validation {
    condition     = var.renewal_window_seconds >= 1 && var.renewal_window_seconds <= 2592000 && floor(var.renewal_window_seconds) == var.renewal_window_seconds
    error_message = "renewal_window_seconds must be a whole number from 1 to 2592000."
  }
}

variable "solution_names" {
  description = "CONFSYNC_SOLUTION_NAMES of sync: the conferenceSolution.name values that are ours (empty: any name)."
  type        = list(string)
  default     = ["My Web Conference", "My Recorded Web Conference"]

  validation {
    condition     = alltrue([for name in var.solution_names : trimspace(name) != "" && !strcontains(name, ",")])
    error_message = "solution_names must be non-empty names without commas."
  }
}

variable "subject_budget_per_minute" {
  description = "CONFSYNC_SUBJECT_BUDGET_PER_MINUTE of channels: Calendar requests per user per minute renewals and sweeps may spend."
  type        = number
  default     = 300

  validation {
    condition     = var.subject_budget_per_minute >= 1 && var.subject_budget_per_minute <= 600 && floor(var.subject_budget_per_minute) == var.subject_budget_per_minute
    error_message = "subject_budget_per_minute must be a whole number from 1 to 600 (Google's limit)."
  }
}

variable "sweep_interval_seconds" {
  description = "CONFSYNC_SWEEP_INTERVAL_SECONDS of sync and channels: the shortest interval between sweeps of a calendar (after recent changes, when a sweep found unannounced changes); a quiet calendar's interval doubles from it."
  type        = number
  default     = 900

  validation {
    condition     = var.sweep_interval_seconds >= 1 && var.sweep_interval_seconds <= 86400 && floor(var.sweep_interval_seconds) == var.sweep_interval_seconds
    error_message = "sweep_interval_seconds must be a whole number from 1 to 86400."
  }
}

variable "sweep_max_interval_seconds" {
  description = "CONFSYNC_SWEEP_MAX_INTERVAL_SECONDS of sync: the longest interval between sweeps of a quiet calendar, at least sweep_interval_seconds; a change whose notification is lost waits at most this plus the tick interval."
  type        = number
  default     = 13500

  validation {
    condition     = var.sweep_max_interval_seconds >= 1 && var.sweep_max_interval_seconds <= 86400 && floor(var.sweep_max_interval_seconds) == var.sweep_max_interval_seconds
    error_message = "sweep_max_interval_seconds must be a whole number from 1 to 86400."
  }
}

variable "sync_max_instances" {
  description = "Maximum instances of the sync function."
  type        = number
  default     = 20

  validation {
    condition     = var.sync_max_instances >= 1
    error_message = "sync_max_instances must be at least 1."
  }
}

variable "sync_settings" {
  description = "The sync function's tuning (the CONFSYNC_* variables read only by sync); every field defaults to the code's default."
  type = object({
    calendar_page_size         = optional(number, 2500)
    delete_brake               = optional(number, 20)
    delete_grace_seconds       = optional(number, 120)
    full_sync_window_days      = optional(number, 30)
    lease_seconds              = optional(number, 300)
    max_pull_rounds            = optional(number, 5)
    move_wait_seconds          = optional(number, 900)
    owned_events_only          = optional(bool, true)
    ownerless_policy           = optional(string, "first-claimant")
    pending_base_delay_seconds = optional(number, 60)
    pending_max_attempts       = optional(number, 10)
    pending_max_delay_seconds  = optional(number, 3600)
    provider_attempts          = optional(number, 3)
    provider_concurrency       = optional(number, 8)
    provider_timeout_seconds   = optional(number, 10)
    relevant_fields            = optional(list(string), ["title", "start", "end", "timeZone", "recurrence", "attendees", "organizer"])
    solution_key_type          = optional(string, "addOn")
    write_back                 = optional(bool, true)
  })
  default = {}

  validation {
    condition     = var.sync_settings.calendar_page_size >= 1 && var.sync_settings.calendar_page_size <= 2500 && floor(var.sync_settings.calendar_page_size) == var.sync_settings.calendar_page_size
    error_message = "sync_settings.calendar_page_size must be a whole number from 1 to 2500."
  }

  validation {
    condition     = var.sync_settings.provider_concurrency >= 1 && var.sync_settings.provider_concurrency <= 64 && floor(var.sync_settings.provider_concurrency) == var.sync_settings.provider_concurrency
    error_message = "sync_settings.provider_concurrency must be a whole number from 1 to 64."
  }

  validation {
    condition     = var.sync_settings.full_sync_window_days >= 0 && var.sync_settings.full_sync_window_days <= 3650 && floor(var.sync_settings.full_sync_window_days) == var.sync_settings.full_sync_window_days
    error_message = "sync_settings.full_sync_window_days must be a whole number from 0 to 3650."
  }

  validation {
    condition     = var.sync_settings.lease_seconds >= 10 && var.sync_settings.lease_seconds <= 3600 && floor(var.sync_settings.lease_seconds) == var.sync_settings.lease_seconds
    error_message = "sync_settings.lease_seconds must be a whole number from 10 to 3600."
  }

  validation {
    condition     = var.sync_settings.max_pull_rounds >= 1 && var.sync_settings.max_pull_rounds <= 100 && floor(var.sync_settings.max_pull_rounds) == var.sync_settings.max_pull_rounds
    error_message = "sync_settings.max_pull_rounds must be a whole number from 1 to 100."
  }

  validation {
    condition     = var.sync_settings.provider_attempts >= 1 && var.sync_settings.provider_attempts <= 10 && floor(var.sync_settings.provider_attempts) == var.sync_settings.provider_attempts
    error_message = "sync_settings.provider_attempts must be a whole number from 1 to 10."
  }

  validation {
    condition     = var.sync_settings.pending_max_attempts >= 1 && var.sync_settings.pending_max_attempts <= 1000 && floor(var.sync_settings.pending_max_attempts) == var.sync_settings.pending_max_attempts
    error_message = "sync_settings.pending_max_attempts must be a whole number from 1 to 1000."
  }

  validation {
    condition     = var.sync_settings.pending_base_delay_seconds >= 1 && var.sync_settings.pending_base_delay_seconds <= 86400 && floor(var.sync_settings.pending_base_delay_seconds) == var.sync_settings.pending_base_delay_seconds
    error_message = "sync_settings.pending_base_delay_seconds must be a whole number from 1 to 86400."
  }

  validation {
    condition     = var.sync_settings.pending_max_delay_seconds >= 1 && var.sync_settings.pending_max_delay_seconds <= 86400 && floor(var.sync_settings.pending_max_delay_seconds) == var.sync_settings.pending_max_delay_seconds
    error_message = "sync_settings.pending_max_delay_seconds must be a whole number from 1 to 86400."
  }

  validation {
    condition     = contains(["first-claimant", "hands-off"], var.sync_settings.ownerless_policy)
    error_message = "sync_settings.ownerless_policy must be first-claimant or hands-off."
  }

  validation {
    condition     = var.sync_settings.delete_grace_seconds >= 0 && var.sync_settings.delete_grace_seconds <= 3600 && floor(var.sync_settings.delete_grace_seconds) == var.sync_settings.delete_grace_seconds
    error_message = "sync_settings.delete_grace_seconds must be a whole number from 0 to 3600."
  }

  validation {
    condition     = var.sync_settings.move_wait_seconds >= 0 && var.sync_settings.move_wait_seconds <= 3600 && floor(var.sync_settings.move_wait_seconds) == var.sync_settings.move_wait_seconds
    error_message = "sync_settings.move_wait_seconds must be a whole number from 0 to 3600."
  }

  validation {
    condition     = var.sync_settings.delete_brake >= 0 && var.sync_settings.delete_brake <= 1000 && floor(var.sync_settings.delete_brake) == var.sync_settings.delete_brake
    error_message = "sync_settings.delete_brake must be a whole number from 0 to 1000."
  }

  validation {
    condition     = var.sync_settings.provider_timeout_seconds > 0 && var.sync_settings.provider_timeout_seconds <= 3600
    error_message = "sync_settings.provider_timeout_seconds must be more than 0 and at most 3600."
  }

  validation {
    condition     = var.sync_settings.pending_base_delay_seconds <= var.sync_settings.pending_max_delay_seconds
    error_message = "sync_settings.pending_base_delay_seconds must not exceed pending_max_delay_seconds."
  }

  validation {
    condition = alltrue([
      for field in var.sync_settings.relevant_fields :
      contains(["title", "start", "end", "timeZone", "recurrence", "attendees", "organizer", "calendarId"], field)
    ])
    error_message = "sync_settings.relevant_fields may only name title, start, end, timeZone, recurrence, attendees, organizer, calendarId."
  }
}

variable "tick_batch" {
  description = "CONFSYNC_TICK_BATCH of channels: calendars or channels one tick handles before fanning out, and per fan-out command (at most 1000)."
  type        = number
  default     = 200

  validation {
    condition     = var.tick_batch >= 1 && var.tick_batch <= 5000 && floor(var.tick_batch) == var.tick_batch
    error_message = "tick_batch must be a whole number from 1 to 5000."
  }
}

variable "tick_schedule" {
  description = "Cron schedule (UTC) of the channels tick published by Cloud Scheduler."
  type        = string
  default     = "*/5 * * * *"

  validation {
    condition     = length(split(" ", trimspace(var.tick_schedule))) == 5
    error_message = "tick_schedule must be a five-field cron expression."
  }
}
