data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  role_arn = "arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:role"
  # The module makes whoever applies an admin (enable_cluster_creator_admin_permissions). When
  # that is the apply role itself, a second access entry for it would conflict.
  applied_by_ci = strcontains(data.aws_caller_identity.current.arn, ":assumed-role/${var.ci_apply_role_name}/")
  ci_apply_entry = local.applied_by_ci ? {} : {
    ci_apply = {
      principal_arn = "${local.role_arn}/${var.ci_apply_role_name}"
      policy_associations = {
        admin = {
          policy_arn   = "arn:${data.aws_partition.current.partition}:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
          access_scope = { type = "cluster" }
        }
      }
    }
  }
}

module "eks" {
  #checkov:skip=CKV_TF_1:Registry module pinned to a major version (~> 21.0); registry releases are immutable once published. Provider hashes are pinned by each unit's committed .terraform.lock.hcl (docs/infrastructure.md).
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
      ami_type       = "AL2023_x86_64_STANDARD"
      # The module's default launch template ignores `disk_size`: the root volume is sized here.
      block_device_mappings = {
        xvda = {
          device_name = "/dev/xvda"
          ebs = {
            volume_size           = var.disk_size_gb
            volume_type           = "gp3"
            encrypted             = true
            delete_on_termination = true
          }
        }
      }
      # The CloudWatch agent of Container Insights runs on the nodes with this policy.
      iam_role_additional_policies = {
        cloudwatch = "arn:${data.aws_partition.current.partition}:iam::aws:policy/CloudWatchAgentServerPolicy"
      }
    }
  }

  # Whoever applies this gets admin; so do the deploy pipeline's role and the infrastructure
  # pipeline's apply role. The pull-request plan role reads kube-system, where Helm keeps the
  # load balancer controller's release (as Secrets), so that plans can refresh it.
  enable_cluster_creator_admin_permissions = true
  access_entries = merge(local.ci_apply_entry, {
    ci = {
      principal_arn = "${local.role_arn}/${var.ci_role_name}"
      policy_associations = {
        admin = {
          policy_arn   = "arn:${data.aws_partition.current.partition}:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
          access_scope = { type = "cluster" }
        }
      }
    }
    ci_plan = {
      principal_arn = "${local.role_arn}/${var.ci_plan_role_name}"
      policy_associations = {
        view = {
          policy_arn = "arn:${data.aws_partition.current.partition}:eks::aws:cluster-access-policy/AmazonEKSAdminViewPolicy"
          access_scope = {
            type       = "namespace"
            namespaces = ["kube-system"]
          }
        }
      }
    }
  })
}

# The AWS Load Balancer Controller turns Ingress objects into ALBs. Its AWS permissions come
# through EKS Pod Identity.
module "load_balancer_controller_identity" {
  #checkov:skip=CKV_TF_1:Registry module pinned to a major version (~> 2.0); registry releases are immutable once published. Provider hashes are pinned by each unit's committed .terraform.lock.hcl (docs/infrastructure.md).
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
