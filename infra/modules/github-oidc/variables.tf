variable "name" {
  description = "Prefix for the role names, e.g. billpay-dev."
  type        = string
}

variable "github_repository" {
  description = "owner/name of the repository whose workflows may assume the roles."
  type        = string
}

variable "ecr_repositories" {
  description = "Repositories the deploy role may push to."
  type        = list(string)
}

variable "frontend_buckets" {
  description = "Buckets the deploy role syncs to: the built sites and the TechDocs site."
  type        = list(string)
}

variable "cluster_name" {
  description = "The EKS cluster the deploy role deploys to (it also needs the cluster's access entry, which the eks module creates)."
  type        = string
}

variable "deploy_ref" {
  description = "The Git ref allowed to deploy."
  type        = string
  default     = "refs/heads/main"
}

variable "environment" {
  description = "The environment name; the apply role trusts only the `infrastructure-<environment>` GitHub environment."
  type        = string
}

variable "state_bucket" {
  description = "The state bucket; the plan role may write lock objects in it."
  type        = string
}
