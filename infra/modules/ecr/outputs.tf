output "repository_urls" {
  description = "Repository name to its URL (for docker push and image references)."
  value       = { for name, r in aws_ecr_repository.this : name => r.repository_url }
}

output "repository_arns" {
  description = "Repository name to its ARN."
  value       = { for name, r in aws_ecr_repository.this : name => r.arn }
}
