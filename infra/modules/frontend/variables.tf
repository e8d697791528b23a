variable "name" {
  description = "The frontend's name (billpay-frontend-a, …); names the distribution and its policies."
  type        = string
}

variable "bucket_name" {
  description = "The private bucket holding the built site."
  type        = string
}

variable "domain_name" {
  description = "A custom domain (e.g. a.billpay.example.com); empty to use the CloudFront domain. With one, an ACM certificate is requested; validate it in your DNS."
  type        = string
  default     = ""
}

variable "spa_fallback" {
  description = "Answer unknown paths with /index.html and 200, for single-page apps."
  type        = bool
  default     = true
}

variable "log_bucket_domain_name" {
  description = "Domain name of the bucket that receives CloudFront's access logs."
  type        = string
}

variable "price_class" {
  description = "CloudFront price class: PriceClass_100 (North America and Europe) is the cheapest."
  type        = string
  default     = "PriceClass_100"
}

variable "api_origin" {
  description = "The API origin the app calls (https://api.<domain>); the only other origin its CSP lets it connect to. Empty: any https origin."
  type        = string
  default     = ""

  validation {
    condition     = var.api_origin == "" || can(regex("^https://[a-z0-9.-]+(:[0-9]+)?$", var.api_origin))
    error_message = "api_origin must be empty or an https origin with no path, e.g. https://api.billpay.example.com."
  }
}
