output "bucket_name" {
  description = "The state bucket."
  value       = module.bucket.id
}

output "kms_key_arn" {
  description = "The key that encrypts state."
  value       = aws_kms_key.state.arn
}
