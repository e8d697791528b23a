variable "bucket_name" {
  description = "The bucket's globally unique name."
  type        = string
}

variable "kms_key_arn" {
  description = "The KMS key that encrypts the objects."
  type        = string
}

variable "log_bucket" {
  description = "Bucket that receives this bucket's access logs; empty for none (only for the log bucket itself)."
  type        = string
  default     = ""
}

variable "noncurrent_days" {
  description = "Days to keep overwritten or deleted object versions."
  type        = number
  default     = 90
}

variable "force_destroy" {
  description = "Allow `destroy` to delete a bucket that still holds objects."
  type        = bool
  default     = false
}

variable "object_ownership" {
  description = "BucketOwnerEnforced (no ACLs), or BucketOwnerPreferred for a bucket CloudFront's standard logs write to (they need ACLs)."
  type        = string
  default     = "BucketOwnerEnforced"
}
