output "bucket_name" {
  description = "Upload the built site here (billpayctl deploy frontend does)."
  value       = module.bucket.id
}

output "distribution_id" {
  description = "The CloudFront distribution, for invalidations after a deploy."
  value       = aws_cloudfront_distribution.site.id
}

output "domain_name" {
  description = "Where the site is served: the custom domain, or the CloudFront domain."
  value       = var.domain_name == "" ? aws_cloudfront_distribution.site.domain_name : var.domain_name
}

output "certificate_validation_records" {
  description = "DNS records that validate the ACM certificate (create them in your DNS)."
  value       = var.domain_name == "" ? [] : aws_acm_certificate.site[0].domain_validation_options
}
