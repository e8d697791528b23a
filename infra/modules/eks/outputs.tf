output "cluster_name" {
  description = "The cluster's name."
  value       = module.eks.cluster_name
}

output "cluster_endpoint" {
  description = "The Kubernetes API endpoint."
  value       = module.eks.cluster_endpoint
}

output "cluster_certificate_authority_data" {
  description = "The cluster's CA certificate, base64."
  value       = module.eks.cluster_certificate_authority_data
}

output "node_security_group_id" {
  description = "The nodes' security group (allow it into the database)."
  value       = module.eks.node_security_group_id
}

output "oidc_provider_arn" {
  description = "The cluster's OIDC provider, for IAM roles for service accounts."
  value       = module.eks.oidc_provider_arn
}
