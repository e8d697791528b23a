output "alarm_topic_arn" {
  description = "The SNS topic alarms notify."
  value       = aws_sns_topic.alerts.arn
}

output "log_bucket_id" {
  description = "The access-log bucket."
  value       = module.logs_bucket.id
}

output "log_bucket_domain_name" {
  description = "The access-log bucket's domain name (CloudFront logging)."
  value       = "${module.logs_bucket.id}.s3.amazonaws.com"
}

output "kms_key_arn" {
  description = "The key that encrypts logs and alerts."
  value       = aws_kms_key.observability.arn
}

output "log_group_names" {
  description = "Log group per service."
  value       = { for k, g in aws_cloudwatch_log_group.app : k => g.name }
}
