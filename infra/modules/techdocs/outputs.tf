output "bucket_name" {
  description = "The TechDocs bucket."
  value       = module.bucket.id
}

output "bucket_arn" {
  description = "The TechDocs bucket's ARN (grant Backstage read and the docs pipeline write)."
  value       = module.bucket.arn
}
