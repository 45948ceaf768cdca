variable "bucket" {
  description = "Bucket the source zip is uploaded to."
  type        = string
}

variable "build_service_account" {
  description = "Id (projects/P/serviceAccounts/EMAIL) of the service account Cloud Build runs the function's build as."
  type        = string

  validation {
    condition     = can(regex("^projects/[^/]+/serviceAccounts/[^/]+@[^/]+$", var.build_service_account))
    error_message = "build_service_account must be projects/PROJECT/serviceAccounts/EMAIL."
  }
}

variable "docker_repository" {
  description = "Artifact Registry repository (projects/P/locations/L/repositories/R) the build pushes the function's image to."
  type        = string
}

variable "entry_point" {
  description = "Name of the Python function in the source's main.py that serves requests or events."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z_][A-Za-z0-9_]*$", var.entry_point))
    error_message = "entry_point must be a Python identifier."
  }
}

variable "environment_variables" {
  description = "Plain environment variables of the function (LOG_EXECUTION_ID is added). A null value leaves the variable out."
  type        = map(string)
  default     = {}
}

variable "name" {
  description = "Name of the function, of its Cloud Run service and of its service account (6-30 characters)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.name))
    error_message = "name must be 6-30 characters: lower-case letters, digits and '-', starting with a letter."
  }
}

variable "project_id" {
  description = "Project of the function and its service account."
  type        = string
}

variable "region" {
  description = "Region of the function."
  type        = string
}

variable "runtime" {
  description = "Cloud Functions runtime id."
  type        = string
  default     = "python311"

  validation {
    condition     = can(regex("^python3[0-9]+$", var.runtime))
    error_message = "runtime must be a Python runtime such as python311."
  }
}

variable "secret_environment_variables" {
  description = "Environment variable -> Secret Manager secret id (its latest version is read). The function's service account is granted access to exactly these secrets. A null value leaves the variable out."
  type        = map(string)
  default     = {}
}

variable "service" {
  description = "How the function is served: ingress, instance bounds, requests per instance at once (concurrency; more than 1 needs cpu of at least 1), vCPUs (cpu, null: what the memory gives), memory and timeout."
  type = object({
    concurrency        = optional(number, 1)
    cpu                = optional(string)
    ingress_settings   = optional(string, "ALLOW_INTERNAL_ONLY")
    max_instance_count = number
    memory             = optional(string, "256M")
    min_instance_count = optional(number, 0)
    timeout_seconds    = optional(number, 60)
  })

  validation {
    condition     = contains(["ALLOW_ALL", "ALLOW_INTERNAL_ONLY", "ALLOW_INTERNAL_AND_GCLB"], var.service.ingress_settings)
    error_message = "service.ingress_settings must be ALLOW_ALL, ALLOW_INTERNAL_ONLY or ALLOW_INTERNAL_AND_GCLB."
  }

  validation {
    condition     = var.service.min_instance_count >= 0 && var.service.min_instance_count <= var.service.max_instance_count
    error_message = "service.min_instance_count must be from 0 to service.max_instance_count."
  }

  validation {
    condition     = var.service.timeout_seconds >= 1 && var.service.timeout_seconds <= 540
    error_message = "service.timeout_seconds must be from 1 to 540 (a Pub/Sub push subscription's ack deadline, at most 600 s, must outlast it)."
  }

  validation {
    condition     = var.service.concurrency >= 1 && var.service.concurrency <= 1000 && floor(var.service.concurrency) == var.service.concurrency
    error_message = "service.concurrency must be a whole number from 1 to 1000."
  }

  validation {
    condition     = var.service.concurrency == 1 || try(tonumber(var.service.cpu) >= 1, false)
    error_message = "service.concurrency above 1 needs service.cpu of at least \"1\" (Cloud Functions refuses concurrent requests on a fractional vCPU)."
  }
}

variable "source_zip" {
  description = "Local path of the function's source zip (its folder and shared/ bundled together)."
  type        = string

  validation {
    condition     = endswith(var.source_zip, ".zip")
    error_message = "source_zip must be a .zip file."
  }
}
