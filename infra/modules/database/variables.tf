variable "name" {
  description = "Prefix for resource names, e.g. billpay-dev."
  type        = string
}

variable "vpc_id" {
  description = "The VPC the database lives in."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets for the database (two AZs at least)."
  type        = list(string)
}

variable "allowed_cidr" {
  description = "The network allowed to connect on 5432 (the VPC's CIDR: the cluster's pods)."
  type        = string
}

variable "instance_class" {
  description = "RDS instance class, e.g. db.t4g.micro."
  type        = string
  default     = "db.t4g.micro"
}

variable "engine_version" {
  description = "PostgreSQL major version."
  type        = string
  default     = "17"
}

variable "multi_az" {
  description = "A standby in another AZ (prod)."
  type        = bool
  default     = true
}

variable "allocated_storage_gb" {
  description = "Storage in GB; autoscaling may grow it to four times this."
  type        = number
  default     = 20
}

variable "backup_retention_days" {
  description = "Days of automated backups (point-in-time recovery)."
  type        = number
  default     = 7
}

variable "deletion_protection" {
  description = "Refuse deletion; turn off deliberately before destroying."
  type        = bool
  default     = true
}

variable "alarm_topic_arn" {
  description = "SNS topic for the database alarms."
  type        = string
}
