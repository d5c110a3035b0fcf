"""What a pull request does to the cluster, told for its reviewer: the portfolio's story and the resources."""
