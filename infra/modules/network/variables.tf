variable "name" {
  description = "Prefix for resource names, e.g. billpay-dev."
  type        = string
}

variable "cluster_name" {
  description = "The EKS cluster that will use the subnets; written into the load-balancer discovery tags."
  type        = string
}

variable "vpc_cidr" {
  description = "The VPC's CIDR block, e.g. 10.0.0.0/16."
  type        = string
}

variable "azs" {
  description = "The availability zones to spread subnets over, named explicitly (2 or 3), e.g. [\"us-east-1a\", \"us-east-1b\"]."
  type        = list(string)
  validation {
    condition     = length(var.azs) >= 2 && length(var.azs) <= 3
    error_message = "Give 2 or 3 availability zones: EKS needs subnets in at least two."
  }
}

variable "private_subnets" {
  description = "One private subnet CIDR per AZ (nodes, pods, the database)."
  type        = list(string)
}

variable "public_subnets" {
  description = "One public subnet CIDR per AZ (load balancers, NAT gateways)."
  type        = list(string)
}

variable "single_nat_gateway" {
  description = "true: one NAT gateway for the VPC (cheaper); false: one per AZ (survives an AZ outage)."
  type        = bool
  default     = true
}

variable "flow_log_retention_days" {
  description = "Days to keep VPC flow logs in CloudWatch Logs."
  type        = number
  default     = 30
}
