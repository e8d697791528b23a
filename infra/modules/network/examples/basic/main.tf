module "network" {
  source = "../.."

  name               = "billpay-example"
  cluster_name       = "billpay-cluster"
  vpc_cidr           = "10.0.0.0/16"
  azs                = ["us-east-1a", "us-east-1b"]
  private_subnets    = ["10.0.0.0/20", "10.0.16.0/20"]
  public_subnets     = ["10.0.240.0/24", "10.0.241.0/24"]
  single_nat_gateway = true
}
