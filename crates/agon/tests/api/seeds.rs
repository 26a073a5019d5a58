//! The seeds' journeys with one process per service on PostgreSQL, RabbitMQ and Redis: the journeys the gateway's
//! tests run in one process, here across `agon serve` processes behind `agon serve gateway --profile`.

use crate::cluster::Cluster;

#[tokio::test]
async fn the_kinetix_journey_with_one_process_per_service() {
    let services = ["users", "trainings", "targets", "metrics"];
    let Some(cluster) = Cluster::start(Some("kinetix"), &services).await else {
        return;
    };
    let _logs = cluster.logs_on_failure();
    agon_testkit::journeys::kinetix(&cluster.base).await;
}

#[tokio::test]
async fn the_gym_it_journey_with_one_process_per_service() {
    let services = ["users", "tournaments", "notifications"];
    let Some(cluster) = Cluster::start(Some("gymit"), &services).await else {
        return;
    };
    let _logs = cluster.logs_on_failure();
    agon_testkit::journeys::gymit(&cluster.base).await;
}

#[tokio::test]
async fn the_api_gateway_journey_with_one_process_per_service() {
    let services = ["users", "ledger", "faces"];
    let Some(cluster) = Cluster::start(Some("apigw"), &services).await else {
        return;
    };
    let _logs = cluster.logs_on_failure();
    agon_testkit::journeys::apigw(&cluster.base).await;
}

#[tokio::test]
async fn the_little_ecom_journey_with_one_process_per_service() {
    let services = ["users", "shop", "ledger", "notifications"];
    let Some(cluster) = Cluster::start(Some("little-ecom"), &services).await else {
        return;
    };
    let _logs = cluster.logs_on_failure();
    agon_testkit::journeys::little_ecom(&cluster.base).await;
}
