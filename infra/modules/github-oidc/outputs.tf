output "plan_role_arn" {
  description = "Assume this in pull-request workflows (read-only)."
  value       = aws_iam_role.ci["plan"].arn
}

output "deploy_role_arn" {
  description = "Assume this in the deploy workflow on the deploy branch."
  value       = aws_iam_role.ci["deploy"].arn
}

output "apply_role_arn" {
  description = "Assume this in the infrastructure apply job (protected environment)."
  value       = aws_iam_role.ci["apply"].arn
}
