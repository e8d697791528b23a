variable "bucket_name" {
  description = "The bucket TechDocs are published to (billpay-techdocs)."
  type        = string
}

variable "log_bucket" {
  description = "Bucket for access logs (the observability module's log bucket)."
  type        = string
  default     = ""
}
