"""The stack on Docker Swarm: docker-compose.yml + deploy/swarm/docker-stack.override.yml rendered
into one file `docker stack deploy` reads (its loader refuses keys compose needs)."""
