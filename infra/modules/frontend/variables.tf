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
