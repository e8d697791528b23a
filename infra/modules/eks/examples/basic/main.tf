module "eks" {
  source = "../.."

  cluster_name   = "billpay-cluster"
  vpc_id         = "vpc-0123456789abcdef0"
  subnet_ids     = ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]
  instance_types = ["t3.medium"]
  min_size       = 1
  desired_size   = 2
  max_size       = 3
  ci_role_name       = "billpay-dev-github-deploy"
  ci_plan_role_name  = "billpay-dev-github-plan"
  ci_apply_role_name = "billpay-dev-github-apply"
}
