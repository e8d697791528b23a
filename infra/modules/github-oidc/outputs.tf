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

output "plan_role_name" {
  description = "The plan role's name, for the EKS access entry that lets plans read the cluster."
  value       = aws_iam_role.ci["plan"].name
}

output "deploy_role_name" {
  description = "The deploy role's name, for the EKS access entry that lets it deploy."
  value       = aws_iam_role.ci["deploy"].name
}

output "apply_role_name" {
  description = "The apply role's name, for the EKS access entry that lets it manage the cluster."
  value       = aws_iam_role.ci["apply"].name
}
