variable "cluster_name" {
  description = "The EKS cluster's name."
  type        = string
  default     = "billpay-cluster"
}

variable "kubernetes_version" {
  description = "Kubernetes minor version. Keep it in standard support: extended support costs six times as much."
  type        = string
  default     = "1.33"
}

variable "vpc_id" {
  description = "The VPC the cluster runs in."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets for the nodes and the control plane's network interfaces."
  type        = list(string)
}

variable "instance_types" {
  description = "Instance types of the managed node group."
  type        = list(string)
  default     = ["t3.medium"]
}

variable "min_size" {
  description = "Fewest nodes."
  type        = number
  default     = 1
}

variable "desired_size" {
  description = "Nodes to start with."
  type        = number
  default     = 2
}

variable "max_size" {
  description = "Most nodes."
  type        = number
  default     = 3
}

variable "disk_size_gb" {
  description = "Root volume of each node, in GB."
  type        = number
  default     = 20
}

variable "ci_role_name" {
  description = "The IAM role the deploy pipeline assumes (from the github-oidc module); it gets cluster-admin through an access entry."
  type        = string
}

variable "ci_plan_role_name" {
  description = "The IAM role pull-request plans assume (from the github-oidc module); it may read kube-system, where the Helm release lives."
  type        = string
}

variable "ci_apply_role_name" {
  description = "The IAM role the infrastructure pipeline applies with (from the github-oidc module); it gets cluster-admin through an access entry."
  type        = string
}

variable "public_access_cidrs" {
  description = "Networks allowed to reach the public API endpoint. Narrow this to your offices and CI runners."
  type        = list(string)
  default     = ["0.0.0.0/0"]
}

variable "load_balancer_controller_version" {
  description = "Helm chart version of the AWS Load Balancer Controller."
  type        = string
  default     = "1.14.0"
}
