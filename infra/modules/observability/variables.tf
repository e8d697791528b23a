variable "name" {
  description = "Prefix for resource names, e.g. billpay-dev."
  type        = string
}

variable "cluster_name" {
  description = "The EKS cluster whose nodes and load balancer are watched."
  type        = string
}

variable "services" {
  description = "Backend services; each gets a log group."
  type        = list(string)
  default     = []
}

variable "log_retention_days" {
  description = "Days CloudWatch keeps logs."
  type        = number
  default     = 30
}

variable "alert_email" {
  description = "An address subscribed to the alert topic (confirm the subscription mail); empty for none."
  type        = string
  default     = ""
}

variable "monthly_budget_usd" {
  description = "The billing alarm fires when the month's estimated charges pass this many dollars."
  type        = number
}

variable "load_balancer_name" {
  description = "The ALB's name suffix as CloudWatch knows it (app/<name>/<id>), once the controller has created it; the ALB alarms watch it."
  type        = string
  default     = "app/billpay/placeholder"
}
