data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

module "eks" {
  #checkov:skip=CKV_TF_1:Registry module pinned to a major version (~> 21.0), which the registry never re-publishes; .terraform.lock.hcl pins the provider hashes.
  source  = "terraform-aws-modules/eks/aws"
  version = "~> 21.0"

  name               = var.cluster_name
  kubernetes_version = var.kubernetes_version

  vpc_id     = var.vpc_id
  subnet_ids = var.subnet_ids

  endpoint_public_access       = true
  endpoint_private_access      = true
  endpoint_public_access_cidrs = var.public_access_cidrs

  # Control-plane logs, and secrets encrypted with a key the module creates.
  enabled_log_types = ["api", "audit", "authenticator"]

  addons = {
    coredns                = {}
    kube-proxy             = {}
    vpc-cni                = { before_compute = true }
    eks-pod-identity-agent = { before_compute = true }
    # Container Insights: the node CPU and memory metrics the observability alarms watch.
    amazon-cloudwatch-observability = {}
  }

  eks_managed_node_groups = {
    default = {
      instance_types = var.instance_types
      min_size       = var.min_size
      desired_size   = var.desired_size
      max_size       = var.max_size
      disk_size      = var.disk_size_gb
      ami_type       = "AL2023_x86_64_STANDARD"
      # The CloudWatch agent of Container Insights runs on the nodes with this policy.
      iam_role_additional_policies = {
        cloudwatch = "arn:${data.aws_partition.current.partition}:iam::aws:policy/CloudWatchAgentServerPolicy"
      }
    }
  }

  # Whoever applies this gets admin; so does the deploy pipeline's role.
  enable_cluster_creator_admin_permissions = true
  access_entries = {
    ci = {
      principal_arn = "arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:role/${var.ci_role_name}"
      policy_associations = {
        admin = {
          policy_arn   = "arn:${data.aws_partition.current.partition}:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
          access_scope = { type = "cluster" }
        }
      }
    }
  }
}

# The AWS Load Balancer Controller turns Ingress objects into ALBs. Its AWS permissions come
# through EKS Pod Identity.
module "load_balancer_controller_identity" {
  #checkov:skip=CKV_TF_1:Registry module pinned to a major version (~> 2.0), which the registry never re-publishes; .terraform.lock.hcl pins the provider hashes.
  source  = "terraform-aws-modules/eks-pod-identity/aws"
  version = "~> 2.0"

  name                            = "${var.cluster_name}-aws-lbc"
  attach_aws_lb_controller_policy = true

  associations = {
    controller = {
      cluster_name    = module.eks.cluster_name
      namespace       = "kube-system"
      service_account = "aws-load-balancer-controller"
    }
  }
}

provider "helm" {
  kubernetes = {
    host                   = module.eks.cluster_endpoint
    cluster_ca_certificate = base64decode(module.eks.cluster_certificate_authority_data)
    exec = {
      api_version = "client.authentication.k8s.io/v1beta1"
      command     = "aws"
      args        = ["eks", "get-token", "--cluster-name", module.eks.cluster_name]
    }
  }
}

resource "helm_release" "aws_load_balancer_controller" {
  name       = "aws-load-balancer-controller"
  namespace  = "kube-system"
  repository = "https://aws.github.io/eks-charts"
  chart      = "aws-load-balancer-controller"
  version    = var.load_balancer_controller_version

  set = [
    { name = "clusterName", value = module.eks.cluster_name },
    { name = "serviceAccount.name", value = "aws-load-balancer-controller" },
    { name = "vpcId", value = var.vpc_id },
  ]

  depends_on = [module.load_balancer_controller_identity]
}
