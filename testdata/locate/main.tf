# Terraform in the shapes modules use.
locals {
  registry = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
}

resource "aws_ecs_task_definition" "api" {
  family = "api"
  container_definitions = jsonencode([
    {
      name      = "api"
      image     = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/api:3.1" # release
      essential = true
    },
    {
      "name"  = "envoy"
      "image" = "${local.registry}/envoy:v1.31"
    },
  ])
}

resource "aws_ecs_task_definition" "legacy" {
  family                = "legacy"
  container_definitions = <<-EOF
    [
      {"name": "web", "image": "public.ecr.aws/nginx/nginx:1.27", "essential": true}
    ]
  EOF
}

resource "aws_lambda_function" "fn" {
  function_name = "fn"
  package_type  = "Image"
  image_uri     = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/fn:7"
}

resource "kubernetes_deployment_v1" "web" {
  metadata { name = "web" }
  spec {
    template {
      metadata { labels = { app = "web" } }
      spec {
        container {
          name  = "web"
          image = "ghcr.io/example/web:2.0"
        }
        init_container {
          name  = "init"
          image = var.init_image
        }
      }
    }
  }
}

variable "init_image" {
  type    = string
  default = "busybox:1.36"
}
