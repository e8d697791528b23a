output "vpc_id" {
  description = "The VPC's id."
  value       = module.vpc.vpc_id
}

output "vpc_cidr_block" {
  description = "The VPC's CIDR block."
  value       = module.vpc.vpc_cidr_block
}

output "private_subnet_ids" {
  description = "Private subnet ids, one per AZ."
  value       = module.vpc.private_subnets
}

output "public_subnet_ids" {
  description = "Public subnet ids, one per AZ."
  value       = module.vpc.public_subnets
}

output "nat_public_ips" {
  description = "The NAT gateways' public addresses (allow-list them where egress must be known)."
  value       = module.vpc.nat_public_ips
}
